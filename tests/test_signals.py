"""nst_tf.signals: telling an interruption from a failure."""


def test_an_error_after_a_stop_signal_counts_as_the_interruption(monkeypatch):
    """TensorFlow can turn a KeyboardInterrupt into another error ("... REPLACED BY
    KeyboardInterrupt"); after a stop signal such an error is the interruption, not a bug."""
    from nst_tf import signals

    assert signals.caused_by_interrupt(KeyboardInterrupt())
    assert not signals.caused_by_interrupt(RuntimeError("a real bug"))
    assert signals.caused_by_interrupt(RuntimeError("UnknownError REPLACED BY KeyboardInterrupt: <EMPTY MESSAGE>"))
    monkeypatch.setattr(signals, "_received", 2)
    assert signals.caused_by_interrupt(RuntimeError("tf.data iterator cancelled"))
