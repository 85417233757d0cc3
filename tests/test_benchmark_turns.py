"""The speed benchmark's paths take turns: one computes while the others wait, in ring order."""

import importlib.util
import threading
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "cnn_speed.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("cnn_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_ring_of_batons_runs_one_turn_at_a_time_in_order():
    bench = load_benchmark()
    turns = [threading.Semaphore(0) for _ in range(3)]
    log, inside = [], []

    def worker(index):
        baton = bench.Baton(turns[index], turns[(index + 1) % 3])
        baton.take()
        for turn in range(4):
            inside.append(index)
            log.append((index, turn, len(inside)))  # how many were inside a turn at once
            inside.remove(index)
            baton.hand_over() if turn < 3 else baton.pass_on()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    turns[0].release()
    for thread in threads:
        thread.join(timeout=10)
    assert [(i, t) for i, t, _ in log] == [(i, t) for t in range(4) for i in range(3)]
    assert all(count == 1 for _, _, count in log)


def test_paired_rates_come_from_each_epoch():
    bench = load_benchmark()
    rates = bench.rates(100, [2.0, 1.0, 0.5])
    assert rates["epoch_samples_per_second"] == [50.0, 100.0, 200.0]
    assert rates["steady_samples_per_second"] == 200 / 1.5
