"""Plots of analyses, results and models, drawn with matplotlib on ``Figure`` objects (Agg backend,
never pyplot's global state). Each function takes the analysis data (or Results/Model) and an
optional ``ax`` and returns the Axes it drew on."""
