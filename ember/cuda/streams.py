"""torch.cuda.Stream / Event / stream context over the runtime's stream and event handles."""
from __future__ import annotations

from ..runtime import cuda as _rt


def _device_index(device):
    from . import _index
    return _index(device)


class Stream:
    """A CUDA stream.  ``Stream()`` creates a new (non-blocking) stream on the current device;
    ``stream_ptr`` wraps an existing handle (0 is the default stream)."""

    def __init__(self, device=None, priority=0, stream_ptr=None, **kwargs):
        rt = _rt.runtime()
        self.device_index = _device_index(device)
        self._owned = stream_ptr is None
        self.cuda_stream = rt.stream_create(self.device_index, priority) if self._owned \
            else int(stream_ptr)
        self.priority = priority

    @property
    def device(self):
        from ..runtime.device import device
        return device("cuda", self.device_index)

    def query(self):
        return _rt.runtime().stream_query(self.cuda_stream)

    def synchronize(self):
        _rt.runtime().stream_synchronize(self.cuda_stream)

    def wait_event(self, event):
        event._ensure(self.device_index)
        _rt.runtime().stream_wait_event(self.cuda_stream, event._handle)

    def wait_stream(self, stream):
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and (self.cuda_stream, self.device_index) == \
            (other.cuda_stream, other.device_index)

    def __hash__(self):
        return hash((self.cuda_stream, self.device_index))

    def __repr__(self):
        return (f"<ember.cuda.Stream device=cuda:{self.device_index} "
                f"cuda_stream={self.cuda_stream:#x}>")

    def __del__(self):
        try:
            if self._owned and _rt._active is not None:
                _rt._active.stream_destroy(self.cuda_stream)
        except Exception:
            pass


def default_stream(device=None):
    return Stream(device, stream_ptr=0)


def current_stream(device=None):
    idx = _device_index(device)
    s = _rt.current_stream_handle(idx)
    cur = _current_objects.get(idx)
    return cur if cur is not None and cur.cuda_stream == s else Stream(idx, stream_ptr=s)


_current_objects = {}     # device -> the current Stream object (kept alive while it is current)


def set_stream(stream):
    if stream is None:
        return
    _current_objects[stream.device_index] = stream
    _rt.set_current_stream_handle(stream.device_index, stream.cuda_stream)


class StreamContext:
    """``with ember.cuda.stream(s):`` makes ``s`` the current stream of its device (and that
    device current), restoring both on exit.  ``stream(None)`` does nothing."""

    def __init__(self, stream):
        self.stream = stream
        self.prev_stream = None
        self.prev_device = None

    def __enter__(self):
        s = self.stream
        if s is None:
            return None
        self.prev_device = _rt.current_device()
        if s.device_index != self.prev_device:
            _rt.set_current_device(s.device_index)
        self.prev_stream = current_stream(s.device_index)
        set_stream(s)
        return s

    def __exit__(self, *exc):
        if self.stream is None:
            return False
        set_stream(self.prev_stream)
        if self.prev_device != self.stream.device_index:
            _rt.set_current_device(self.prev_device)
        return False


def stream(stream):
    return StreamContext(stream)


class Event:
    """A CUDA event.  Created on first ``record`` (like PyTorch); ``elapsed_time`` needs
    ``enable_timing=True`` on both events and both recorded."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        _rt.runtime()
        self.enable_timing = enable_timing
        self.blocking = blocking
        self.interprocess = interprocess
        self._handle = None
        self._device = None
        self._recorded = False

    def _ensure(self, device):
        if self._handle is None:
            self._device = device
            self._handle = _rt.runtime().event_create(self.enable_timing, self.blocking,
                                                      self.interprocess)

    def record(self, stream=None):
        stream = current_stream() if stream is None else stream
        self._ensure(stream.device_index)
        _rt.runtime().event_record(self._handle, stream.cuda_stream)
        self._recorded = True

    def wait(self, stream=None):
        if self._handle is None:
            return
        stream = current_stream() if stream is None else stream
        stream.wait_event(self)

    def query(self):
        return True if self._handle is None else _rt.runtime().event_query(self._handle)

    def synchronize(self):
        if self._handle is not None:
            _rt.runtime().event_synchronize(self._handle)

    def elapsed_time(self, end_event):
        """Milliseconds between this event and ``end_event`` (both recorded and completed)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._recorded and end_event._recorded):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return _rt.runtime().event_elapsed_ms(self._handle, end_event._handle)

    @property
    def cuda_event(self):
        return self._handle or 0

    def __repr__(self):
        return f"<ember.cuda.Event {self.cuda_event:#x}>"

    def __del__(self):
        try:
            if self._handle is not None and _rt._active is not None:
                _rt._active.event_destroy(self._handle)
        except Exception:
            pass
