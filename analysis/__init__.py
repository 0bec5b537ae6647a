"""Reading sweep results, selecting the learning rate the zero-shot way, tables and plots.

    from analysis import load_sweep, analyze, write_report
    frame = load_sweep("~/xlsearch_results/demo")        # one row per trial and round
    result = analyze(frame, threshold=0.2)               # each rule's choice per group
"""
from analysis.frame import final_rows, load_sweep
from analysis.report import analyze, write_report
from xlsearch.selection import RULES, regret

__all__ = ["RULES", "analyze", "final_rows", "load_sweep", "regret", "write_report"]
