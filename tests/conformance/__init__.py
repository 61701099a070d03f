"""Conformance tier: the real ReqMgr2 server and the emulator, driven by the same tests."""
