"""Session-wide emulator: one subprocess, control API on, fast clock, fixed seed.

Sub-directory conftests add service-specific fixtures (hooks, settings) on top of ``emulator``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """10 minutes of emulated time per real second; faults and actors repeatable (seed 1234)."""
    emu = EmulatorProcess(tmp_path_factory.mktemp("emulator"), clock_scale=600, seed=1234, control=True)
    with emu:
        yield emu


@pytest.fixture(autouse=True)
def clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Injected faults never leak into the next test (only if the test used the emulator)."""
    yield
    if "emulator" in request.fixturenames:
        emu: EmulatorProcess = request.getfixturevalue("emulator")
        if emu.proc is not None and emu.proc.poll() is None:
            emu.control.clear_faults()
