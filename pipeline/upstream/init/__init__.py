"""`ics-data init`: a new project for any ICS in England from the national files, one module per
thing it builds. Imports `pipeline.upstream`'s readers and merge, `pipeline.check` and below."""

from pipeline.upstream.init.inputs import InitError, InitInputs, NationalFile, read_init_inputs
from pipeline.upstream.init.project import InitResult, init_project, render_init

__all__ = [
    "InitError",
    "InitInputs",
    "InitResult",
    "NationalFile",
    "init_project",
    "read_init_inputs",
    "render_init",
]
