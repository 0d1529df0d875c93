"""Constants every stage shares: the classes, the model's sample rate and frame length, the no-label value."""

CLASS_IDS = {'Noise': 0, 'NR': 1, 'LTE': 2, 'Unknown': 3}
CLASS_NAMES = tuple(CLASS_IDS)
CLASS_COLORS = ('#2b2b2b', '#1f9bde', '#f0a020', '#b040c0')  # Noise, NR, LTE, Unknown (figures, mask panels)
STANDARDS = ('NR', 'LTE')  # the standards a frame classifier predicts: class ids 1 and 2, in that order

MODEL_RATE = 61.44e6  # samples per second of every frame a network sees (MathWorks' example rate)
FRAME_S = 0.04        # seconds of one frame (40 ms)

# Mask value of pixels with no label: band or time a recording has no data for (noise fill). Losses, metrics
# and class weights skip it; inference writes it where it has no prediction.
NO_LABEL = 255
# SigMF `core:label` of an annotation whose region's truth is unknown: its pixels get NO_LABEL whatever else lies
# there (for instance the part of a carrier's possible band that a short capture cannot show).
IGNORE_LABEL = 'Ignore'
