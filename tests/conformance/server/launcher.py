"""Starts the real ReqMgr2 server with two hard-coded outbound URLs pointed at the local stub.

Run with the reqmgr2 virtualenv's python, with the same arguments as ``wmc-httpd``. TagCollector and
CRIC have built-in default URLs on the public internet that no configuration key changes; this
launcher wraps their constructors so that, when a caller gives no URL, the one from the environment
(CONFORMANCE_TAGCOLLECTOR_URL, CONFORMANCE_CRIC_URL) is used. No WMCore file is modified.
"""

import functools
import os

from WMCore.REST.Main import main
from WMCore.Services.CRIC.CRIC import CRIC
from WMCore.Services.TagCollector.TagCollector import TagCollector


def _default_url(cls, env_name):
    original = cls.__init__

    @functools.wraps(original)
    def init(self, url=None, *args, **kwargs):
        original(self, url or os.environ[env_name], *args, **kwargs)

    cls.__init__ = init


_default_url(TagCollector, "CONFORMANCE_TAGCOLLECTOR_URL")
_default_url(CRIC, "CONFORMANCE_CRIC_URL")

if __name__ == "__main__":
    main()
