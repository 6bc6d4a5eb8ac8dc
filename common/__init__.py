"""Code both apps share, imported by `insights` and `cdnorigin` and importing neither.

API plumbing (token authentication, parsers, error bounds, strict filters and serializer mixins, schema
helpers), admin bases and CSV export, chart helpers, the after-commit enqueue, structured logs, the
rollup failure rule, and the registry through which commands and pages spanning both apps reach them
(`common.registry`). See docs/architecture.md.
"""
