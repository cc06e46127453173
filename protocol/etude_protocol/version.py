"""Protocol version. A breaking change bumps MAJOR; additive fields do not."""

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 2  # 1.1: note_on/note_off `origin`; 1.2: piece_recognised and
# session_analysis events, note_on `position`
PROTOCOL_VERSION = f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
# The hub accepts the current major and the previous one for one release.
ACCEPTED_MAJORS = frozenset({PROTOCOL_MAJOR})
