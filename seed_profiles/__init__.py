"""The seed data as package data: stakeholders.jsonl, projects.jsonl, themes.json (the DLD theme
vocabulary) and translations/, installed with the service so that it starts wherever it runs."""
