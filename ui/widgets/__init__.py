"""Pieces shared by several pages: the rows table model, the pandas frame model, thumbnails,
and label correction (its dialog and the fix it adds)."""
