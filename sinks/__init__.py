"""Action executors (webhook, email, SMS/push, tasks, notifications, CRM, documents) and the
analytics writer."""
