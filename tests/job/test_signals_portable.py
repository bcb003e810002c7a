"""Ctrl-C stops a send even where the event loop has no signal handlers (Windows' loops)."""

from __future__ import annotations

import asyncio
import signal

from importer.job.sendpass import _install_signal_handlers, _remove_signal_handlers


def test_a_loop_without_signal_handlers_stops_on_ctrl_c_and_gives_the_handler_back(capsys):
    before = signal.getsignal(signal.SIGINT)

    async def main() -> tuple[bool, dict]:
        loop = asyncio.get_running_loop()

        def refused(*args, **kwargs):
            raise NotImplementedError  # what Windows' ProactorEventLoop does

        loop.add_signal_handler = refused
        stop = asyncio.Event()
        replaced = _install_signal_handlers(loop, stop)
        signal.raise_signal(signal.SIGINT)
        await asyncio.wait_for(stop.wait(), 2)
        _remove_signal_handlers(loop, replaced)
        return stop.is_set(), replaced

    stopped, replaced = asyncio.run(main())
    assert stopped
    assert signal.SIGINT in replaced and signal.SIGTERM in replaced
    assert signal.getsignal(signal.SIGINT) is before
    assert "interrupt: finishing requests in flight" in capsys.readouterr().err
