"""Graph-to-graph passes and the pipeline that runs them (see docs/compile.md).

    from ember.passes import run_pipeline
    result = run_pipeline(graph)          # PipelineResult: graph, fusion groups, memory plan, timings
"""
from .manager import PASSES, PIPELINE, PassManager, PipelineResult, run_pipeline  # noqa: F401
