"""Protocol version. A breaking change bumps MAJOR; additive fields do not."""

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 3  # 1.1: note_on/note_off `origin`; 1.2: piece_recognised and
# session_analysis events, note_on `position`; 1.3: positions_revised events
PROTOCOL_VERSION = f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
# The hub accepts the current major and the previous one for one release.
ACCEPTED_MAJORS = frozenset({PROTOCOL_MAJOR})
