"""What `ktrun check` and `ktrun plan` print: text, json, GitHub annotations, Markdown."""
