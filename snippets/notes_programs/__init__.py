"""The study notes' complete programs, rewritten for today's Keras 3 (page: docs/legacy.md).

The old versions, as the notes show them, are stored beside them as text
(old_002.txt, old_003.txt, old_004.txt): they are read, never imported.
"""
