"""The Textual wizard: one screen per step, a sidebar of steps, one stylesheet."""
