"""Data engine: any egocentric video -> vision-language-action episodes in a vitra-bench corpus."""
