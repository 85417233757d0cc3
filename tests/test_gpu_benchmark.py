"""benchmarks/gpu_speed.py runs its whole code path on the CPU (--device cpu --quick), as CI
runs it; the GPU figures come from a lent GPU (README)."""

import json
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_speed.py"


def test_quick_cpu_run_reports_every_case_for_both_paths(tmp_path):
    out = tmp_path / "gpu_speed.json"
    done = subprocess.run([sys.executable, str(BENCHMARK), "--device", "cpu", "--quick",
                           "--cases", "lenet5,lstm",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report["cases"]) == {"lenet5", "lstm"}
    for case in report["cases"].values():
        for path in ("nnzoo", "plain"):
            assert case[path]["samples_per_second"]["median"] > 0
            assert len(case[path]["runs"][0]["test_top1_per_epoch"]) == case["epochs"]
        assert case["ratio"]["median"] > 0
    assert "| lenet5 |" in done.stdout
