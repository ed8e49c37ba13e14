"""The WIM container of a .ppkg: one module per on-disk structure, the streaming writer and
the reader."""
