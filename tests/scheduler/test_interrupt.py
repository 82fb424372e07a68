"""Ctrl-C during a CP-SAT solve stops the whole run with KeyboardInterrupt, promptly; so does ``Options.stop``
(a worker shutting down), with ``Stopped``, from any thread.

CP-SAT catches SIGINT by default and only ends the current solve early: ``baustellen plan`` then finished the
run, wrote the slots and exited 0."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest
from ortools.sat.python import cp_model

from service.scheduler.cpsat import solve_interruptibly
from service.scheduler.model import Options, Problem, Stopped, Task, Zone
from service.scheduler.solve import solve


def _hard_problem() -> Problem:
    """One component CP-SAT cannot prove optimal in seconds (60 tasks sharing a zone of capacity 5)."""
    rng = random.Random(1)
    tasks = [Task(f"t{i}", rng.randint(3, 12), 0, 400, preferred_start=rng.randint(0, 60), weight=rng.randint(1, 5))
             for i in range(60)]
    return Problem(tasks=tasks, zones=[Zone("z", 5, {t.id: rng.randint(1, 3) for t in tasks})])


def _interrupted_after(delay: float, call) -> float:  # noqa: ANN001
    """Run ``call`` with a SIGINT sent to the process after ``delay`` s; expects KeyboardInterrupt, returns
    how long after the signal it came."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    sent: list[float] = []

    def interrupt() -> None:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        raised = time.perf_counter()
    finally:
        timer.cancel()
        timer.join()
    assert sent, "the call ended before the signal was sent"
    return raised - sent[0]


def test_ctrl_c_during_plan_solve_raises_keyboard_interrupt_promptly():
    problem = _hard_problem()
    late = _interrupted_after(1.0, lambda: solve(problem, Options(time_limit_s=20, num_workers=2, seed=0)))
    assert late < 3.0
    time.sleep(0.1)
    # not Thread.is_alive: a KeyboardInterrupt that lands in Thread.join makes it say False while the thread runs on
    running = [t for t in threading.enumerate() if t.name == "cp-sat"]
    assert not running, "the solve goes on in the background"


def test_solve_interruptibly_turns_off_cp_sat_sigint_catching_and_returns_the_status():
    model = cp_model.CpModel()
    x = model.new_int_var(0, 10, "x")
    model.maximize(x)
    solver = cp_model.CpSolver()
    assert solve_interruptibly(solver, model) == cp_model.OPTIMAL
    assert solver.parameters.catch_sigint_signal is False and solver.value(x) == 10


def test_a_solve_outside_the_main_thread_runs_directly():
    model = cp_model.CpModel()
    x = model.new_int_var(0, 3, "x")
    model.minimize(x)
    out = []
    worker = threading.Thread(target=lambda: out.append(solve_interruptibly(cp_model.CpSolver(), model)))
    worker.start()
    worker.join()
    assert out == [cp_model.OPTIMAL]


def test_the_stop_event_ends_a_solve_in_a_worker_thread_promptly():
    """A worker's job thread (not the main thread) solving for up to 20 s: the stop event ends it at once."""
    stop = threading.Event()
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(solve(_hard_problem(), Options(time_limit_s=20, num_workers=2, seed=0, stop=stop)))
        except Stopped as exc:
            outcome.append(exc)

    job = threading.Thread(target=work)
    job.start()
    time.sleep(1.5)
    assert job.is_alive(), "the solve ended before the stop: the problem is too easy to show anything"
    stopped = time.perf_counter()
    stop.set()
    job.join(10)
    assert time.perf_counter() - stopped < 2.0 and not job.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Stopped), outcome
    time.sleep(0.1)
    assert not [t for t in threading.enumerate() if t.name == "cp-sat"], "the search goes on"
