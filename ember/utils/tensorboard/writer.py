"""SummaryWriter: scalars, scalar groups, histograms, text and model graphs as TensorBoard
events (the protobufs and event-file writer of the tensorboard package).  Graphs come from
ember's IR: the model is traced once (ember.jit.trace) and each node becomes a GraphDef node."""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime

import numpy as np
from tensorboard.compat.proto import event_pb2, graph_pb2, node_def_pb2, summary_pb2
from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.summary.writer.event_file_writer import EventFileWriter

__all__ = ["SummaryWriter"]


def _numpy(x):
    if hasattr(x, "detach") and hasattr(x, "_data"):   # an ember tensor
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)


def _scalar(x):
    a = _numpy(x)
    if a.size != 1:
        raise ValueError(f"add_scalar: scalar_value must be a number or a one-element tensor, "
                         f"got shape {list(a.shape)}")
    return float(a.reshape(()))


class SummaryWriter:
    """``SummaryWriter(log_dir=None, comment="", purge_step=None, max_queue=10,
    flush_secs=120, filename_suffix="")``; log_dir defaults to runs/<date>_<host><comment>."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self._options = dict(max_queue_size=max_queue, flush_secs=flush_secs,
                             filename_suffix=filename_suffix)
        self._writer = EventFileWriter(self.log_dir, **self._options)
        self._groups = {}   # add_scalars' sub-writers, one directory per tag
        self._purge_step = purge_step
        if purge_step is not None:   # TensorBoard drops later events of a restarted run
            self._add(event_pb2.Event(step=purge_step, session_log=event_pb2.SessionLog(
                status=event_pb2.SessionLog.START)))

    def get_logdir(self):
        return self.log_dir

    def _add(self, event, step=None, walltime=None, writer=None):
        event.wall_time = time.time() if walltime is None else float(walltime)
        if step is not None:
            event.step = int(step)
        (writer or self._writer).add_event(event)

    def _summary(self, value, step, walltime, writer=None):
        self._add(event_pb2.Event(summary=summary_pb2.Summary(value=[value])), step, walltime,
                  writer)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None,
                   new_style=False, double_precision=False):
        self._summary(summary_pb2.Summary.Value(tag=tag, simple_value=_scalar(scalar_value)),
                      global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each tag's scalars go to ``<log_dir>/<main_tag>_<tag>``, as in PyTorch."""
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            w = self._groups.get(path)
            if w is None:
                w = self._groups[path] = EventFileWriter(path, **self._options)
            self._summary(summary_pb2.Summary.Value(tag=main_tag, simple_value=_scalar(value)),
                          global_step, walltime, w)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        a = _numpy(values).astype(np.float64).reshape(-1)
        if a.size == 0:
            raise ValueError("The histogram is empty, please file a bug report.")
        if bins == "tensorflow":
            edges = _tf_bucket_edges(a)
        else:
            edges = np.histogram_bin_edges(a, bins=bins)
        counts, edges = np.histogram(a, bins=edges)
        hist = summary_pb2.HistogramProto(min=float(a.min()), max=float(a.max()),
                                          num=int(a.size), sum=float(a.sum()),
                                          sum_squares=float(np.dot(a, a)),
                                          bucket_limit=edges[1:].tolist(),
                                          bucket=counts.astype(np.float64).tolist())
        self._summary(summary_pb2.Summary.Value(tag=tag, histo=hist), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.types_pb2 import DT_STRING
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="text"))
        tensor = TensorProto(dtype=DT_STRING, string_val=[text_string.encode("utf-8")],
                             tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        self._summary(summary_pb2.Summary.Value(tag=tag + "/text_summary", metadata=meta,
                                                tensor=tensor), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Trace ``model`` on ``input_to_model`` and write its IR as the run's graph."""
        import ember   # ember.jit sits above the libraries: reached by name at run time
        args = input_to_model if isinstance(input_to_model, tuple) else (input_to_model,)
        program = ember.jit.trace(model, args)
        graph = graph_def(program.graph)
        if verbose:
            print(program.graph)
        self._add(event_pb2.Event(graph_def=graph.SerializeToString()))

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        for k, v in metric_dict.items():
            self.add_scalar(k, v, global_step)
        self.add_text("hparams", ", ".join(f"{k}={v}" for k, v in hparam_dict.items()),
                      global_step)

    def flush(self):
        self._writer.flush()
        for w in self._groups.values():
            w.flush()

    def close(self):
        self._writer.close()
        for w in self._groups.values():
            w.close()
        self._groups.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _tf_bucket_edges(a):
    """TensorFlow's default buckets: +-1e-12 growing by 10% (the ones TensorBoard expects),
    trimmed to the data's range."""
    pos = 1e-12 * 1.1 ** np.arange(0, 775)
    pos = pos[pos < 1e20]
    edges = np.concatenate([-pos[::-1], [0.0], pos])
    lo = max(np.searchsorted(edges, a.min(), side="right") - 1, 0)
    hi = min(np.searchsorted(edges, a.max(), side="left") + 1, len(edges) - 1)
    edges = edges[lo:hi + 1]
    if len(edges) < 2:
        edges = np.array([a.min() - 0.5, a.max() + 0.5])
    return edges


def _shape_attr(meta):
    dims = [TensorShapeProto.Dim(size=int(d) if isinstance(d, int) else -1)
            for d in meta.shape]
    return AttrValue(list=AttrValue.ListValue(shape=[TensorShapeProto(dim=dims)]))


def graph_def(graph):
    """A GraphDef of an ember IR graph: inputs and parameters, then one node per primitive."""
    nodes, names = [], {}
    for v in graph.inputs:
        name = f"{v.kind}/{v.target or v.name}"
        names[id(v)] = name
        nodes.append(node_def_pb2.NodeDef(
            name=name, op="IO Node" if v.kind == "input" else "Parameter",
            attr={"_output_shapes": _shape_attr(v.meta),
                  "attr": AttrValue(s=str(v.meta).encode())}))
    for i, n in enumerate(graph.nodes):
        name = f"{n.prim.name}_{i}"
        names[id(n.out)] = name
        nodes.append(node_def_pb2.NodeDef(
            name=name, op=n.prim.name, input=[names[id(x)] for x in n.inputs if id(x) in names],
            attr={"_output_shapes": _shape_attr(n.out.meta),
                  "attr": AttrValue(s=repr(n.params).encode())}))
    for k, v in enumerate(graph.outputs):
        nodes.append(node_def_pb2.NodeDef(name=f"output/output.{k}", op="IO Node",
                                          input=[names.get(id(v), "")],
                                          attr={"_output_shapes": _shape_attr(v.meta)}))
    return graph_pb2.GraphDef(node=nodes, versions={"producer": 22})
