"""Reading sweep results, selecting the learning rate the zero-shot way, tables and plots.

    from analysis import load_sweep, analyze, write_report
    frame = load_sweep("~/xlsearch_results/demo")        # one row per trial and round
    result = analyze(frame, threshold=0.2)               # each rule's choice per group
    studies = build_studies([load_study_sweep(d) for d in dirs])  # study tables across sweeps, per task
"""
from analysis.frame import final_rows, load_sweep
from analysis.report import analyze, write_report
from analysis.study import build_studies, load_study_sweep, study_table, write_study
from xlsearch.selection import RULES, regret, rules

__all__ = ["RULES", "rules", "analyze", "build_studies", "final_rows", "load_study_sweep", "load_sweep", "regret",
           "study_table", "write_report", "write_study"]
