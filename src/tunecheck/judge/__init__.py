"""LLM-as-judge: rubric grading and blind pairwise comparison (issue 11)."""
