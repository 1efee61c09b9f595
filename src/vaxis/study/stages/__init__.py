"""The study's stages; importing this package registers them, in this (run) order."""
# isort: skip_file

from vaxis.study.stages import data  # noqa: F401  (registration, in run order)
from vaxis.study.stages import axis  # noqa: F401
from vaxis.study.stages import models  # noqa: F401
from vaxis.study.stages import brain  # noqa: F401
from vaxis.study.stages import zoo  # noqa: F401
from vaxis.study.stages import align  # noqa: F401
from vaxis.study.stages import saturation  # noqa: F401
from vaxis.study.stages import ensemble  # noqa: F401
