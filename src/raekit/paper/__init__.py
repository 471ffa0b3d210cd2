"""The paper's experiments: evaluation (FID, PRD), Tables 1 and 2 with their claims, Figures 2
and 3, reports and the demo. Submodules are imported where used: they pull in heavy packages."""
