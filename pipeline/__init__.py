"""ics-data: the open data publishing pipeline of the NHS Kent and Medway Integrated Care System.

The stages are plain functions connected by plain values::

    records = load_sources(project)            # records keep their file and line
    report = validate(records, schemas)        # never raises for bad data
    staged = build_package(records, ...)       # a folder of files, nothing published yet
    release(staged, output)                    # atomic rename; refuses to rewrite a version
"""

__version__ = "0.1.0"
