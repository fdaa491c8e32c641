"""evasion: attempts to silence or blind the scanner."""

from stopbox.detectors.evasion import (  # noqa: F401 - importing registers the rules
    eva001_suppression_comment,
    eva002_unparsable_source,
)
