"""nst_tf.monitor: the progress line (rate after the tracing step, ETA, the last step always shown)."""

import io

from nst_tf import monitor
from nst_tf.steps import StepInfo


def test_format_seconds():
    assert [monitor.format_seconds(s) for s in (0, 61.4, 3725, float("nan"))] == ["00:00", "01:01", "1:02:05", "--:--"]


def test_progress_lines():
    out = io.StringIO()
    printer = monitor.ProgressPrinter(every_s=3600, stream=out)
    losses = {"content": 1.0, "style": 2.0, "tv": 0.5, "total": 3.5}
    for step in range(1, 6):
        printer(StepInfo(step, 5, losses, 0.0, 0.02, lambda: None))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first step and the last; the others fall inside every_s
    assert lines[0].startswith("step 1/5 |   nan steps/s") and lines[0].endswith("ETA --:--")
    assert lines[1].startswith("step 5/5 |") and "total 3.5" in lines[1] and "lr 0.02" in lines[1]
