"""A kernel kept alive between notebooks, and the papermill engine that runs notebooks on it.

Starting a kernel and importing pandas/geopandas/altair costs about 2 s per report; keeping one kernel per
worker removes that (stack notes: 84 reports, 205 s → 40 s). Between two notebooks the namespace is reset and
the working directory restored; after a crash or a timeout the kernel is replaced by a fresh one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from queue import Empty

from jupyter_core.utils import run_sync

log = logging.getLogger(__name__)

ENGINE_NAME = "mindit_kept_kernel"


class KernelStartError(RuntimeError):
    """The kernel could not be started after the allowed attempts."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


def register_engine() -> str:
    """Register (once) a papermill engine that closes its kernel client after each run but keeps the kernel.

    papermill/nbclient, given ``km=``, neither shut the kernel down (wanted) nor stop the new client's channels
    (a heartbeat thread and sockets leaked per report); this engine stops them.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.utils import remove_args

    class FinalSaveManager(NotebookExecutionManager):
        """Writes the output notebook once, when execution ends (papermill's ``finally`` path, errors and
        timeouts included), not at every cell start and end: 30 JSON dumps of a growing notebook per report
        that nobody reads in a batch."""

        _final = False

        def save(self, **kwargs):
            if self._final:
                super().save(**kwargs)

        def notebook_complete(self, **kwargs):
            self._final = True
            super().notebook_complete(**kwargs)

    if ENGINE_NAME in papermill_engines._engines:
        return ENGINE_NAME

    class KeptKernelEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            nb_man = FinalSaveManager(nb, output_path=output_path, progress_bar=progress_bar,
                                      log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            client = PapermillNotebookClient(
                nb_man, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                log=logging.getLogger("papermill"), log_output=log_output, stdout_file=stdout_file,
                stderr_file=stderr_file, **kwargs,
            )
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    with contextlib.suppress(Exception):
                        client.kc.stop_channels()
                    client.kc = None

    papermill_engines.register(ENGINE_NAME, KeptKernelEngine)
    return ENGINE_NAME


def _signal_group(pid: int, sig: int) -> None:
    """Signal the kernel's process group (jupyter_client starts kernels in their own session)."""
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError, OSError):
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(pid, sig)


class Watchdog:
    """After ``seconds``, interrupt the kernel (SIGINT); if it is still running ``grace`` seconds later, kill it.

    Only ``os.kill`` is called from the timer thread, so it never touches the kernel manager's event loop.
    """

    def __init__(self, pid: int | None, seconds: float | None, grace: float = 3.0):
        self.pid, self.seconds, self.grace = pid, seconds, grace
        self.fired = False
        self._timers: list[threading.Timer] = []

    def _interrupt(self) -> None:
        self.fired = True
        log.warning("timeout after %s s: interrupting kernel %s", self.seconds, self.pid)
        _signal_group(self.pid, signal.SIGINT)
        timer = threading.Timer(self.grace, self._kill)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _kill(self) -> None:
        log.warning("kernel %s ignored the interrupt: killing it", self.pid)
        _signal_group(self.pid, signal.SIGKILL)

    def __enter__(self) -> Watchdog:
        if self.pid and self.seconds:
            timer = threading.Timer(self.seconds, self._interrupt)
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for timer in self._timers:
            timer.cancel()


def _quick_ready_client_class():
    from jupyter_client.asynchronous import AsyncKernelClient

    class QuickReadyClient(AsyncKernelClient):
        """A client whose ``wait_for_ready`` does not idle 0.2 s after the kernel answered.

        jupyter_client waits for ``kernel_info_reply`` and one IOPub message (so IOPub is connected), then
        flushes IOPub until it has been silent for 0.2 s. With a kept kernel that pause happens twice per
        report (reset, then papermill's own client) and was a quarter of a report's wall time. Here the
        flush only drains what is already queued; a late stray message is ignored by nbclient anyway
        (it matches replies to its own requests).
        """

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.time() + (timeout if timeout is not None else float("inf"))
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    msg = None
                if msg is not None and msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            while True:  # drain what is queued, without waiting for more
                try:
                    await self.iopub_channel.get_msg(timeout=0.01)
                except Empty:
                    break

    return QuickReadyClient


class KeptKernel:
    """One Jupyter kernel reused for many notebooks.

    Parameters
    ----------
    kernel_name : str
        Kernel spec (``python3`` runs the worker's own interpreter).
    cwd : str
        Working directory of the kernel (the notebook's folder), restored before every notebook.
    start_attempts : int
        How many times a kernel start is tried before giving up.
    """

    RESET_CODE = "get_ipython().run_line_magic('reset', '-f')\nimport os as _os\n_os.chdir({cwd!r})\ndel _os"

    def __init__(self, kernel_name: str = "python3", cwd: str | None = None, start_attempts: int = 3,
                 start_timeout: float = 60.0):
        self.kernel_name, self.cwd = kernel_name, cwd or os.getcwd()
        self.start_attempts, self.start_timeout = start_attempts, start_timeout
        self.km = None
        self.runs = 0

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def is_alive(self) -> bool:
        return self.km is not None and bool(run_sync(self.km.is_alive)())

    async def _ready(self, code: str | None) -> None:
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=self.start_timeout)
            if code:
                reply = await kc.execute_interactive(code, timeout=30, allow_stdin=False, output_hook=lambda m: None)
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"kernel reset failed: {reply['content'].get('evalue')}")
        finally:
            kc.stop_channels()

    def _start_once(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        self.km.client_factory = _quick_ready_client_class()
        try:
            # the kernel warns about unencrypted TCP on every start: noise in the progress bar, nothing to act on
            run_sync(self.km.start_kernel)(cwd=self.cwd, extra_arguments=["--IPKernelApp.log_level=ERROR"])
            run_sync(self._ready)(None)
        except BaseException:
            self.shutdown()
            raise

    def ensure(self) -> int:
        """Make sure a live kernel is ready for the next notebook; return the number of failed start attempts.

        Raises :class:`KernelStartError` when every attempt failed.
        """
        retries = 0
        if self.is_alive():
            try:
                run_sync(self._ready)(self.RESET_CODE.format(cwd=self.cwd))
                return 0
            except Exception:  # noqa: BLE001 - an unusable kernel is replaced below
                log.warning("kept kernel unusable, starting a new one", exc_info=True)
                self.shutdown()
        last: BaseException | None = None
        for attempt in range(1, self.start_attempts + 1):
            try:
                self._start_once()
                return retries
            except Exception as exc:  # noqa: BLE001
                last = exc
                retries += 1
                log.warning("kernel start failed (attempt %d/%d): %s", attempt, self.start_attempts, exc)
                time.sleep(0.2 * attempt)
        raise KernelStartError(f"kernel {self.kernel_name!r} failed to start {self.start_attempts} times: {last}",
                               attempts=self.start_attempts)

    def shutdown(self) -> None:
        """Stop the kernel (kill it if it does not stop quickly). Safe to call twice."""
        km, self.km = self.km, None
        if km is None:
            return
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001
            log.debug("kernel shutdown failed", exc_info=True)
            pid = getattr(getattr(getattr(km, "provisioner", None), "process", None), "pid", None)
            if pid:
                _signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            run_sync(km.cleanup_resources)()
