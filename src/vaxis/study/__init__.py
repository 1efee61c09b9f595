"""The whole study in one call: ``run_study(load_config(path))`` (CLI: ``vaxis study``).

Modules: ``config`` (StudyConfig, TOML/YAML loading, errors naming the key), ``registry``
(stages, figures, tables, plots), ``stages`` (one module per stage), ``cache`` (skip what is
done), ``results`` (results.json and its schema), ``report_html`` (report.html), ``run``.
"""
