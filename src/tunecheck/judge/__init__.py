"""LLM-as-judge: rubric grading and blind pairwise comparison."""
