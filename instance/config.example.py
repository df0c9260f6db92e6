# Copy to instance/config.py and fill in. PORTAL_* environment variables override anything set here.

# ENV = "production"
# SECRET_KEY = "…at least 32 random characters…"          # python -c "import secrets; print(secrets.token_urlsafe(48))"
# DATABASE_URL = "postgresql+psycopg://portal@127.0.0.1:5432/portal"
# KEY_DIR = "/etc/escalation-portal/keys"                  # keep out of database backups
# BASE_URL = "https://escalations.example.org"            # used in e-mailed links
# MAILER = "smtp"                                         # "dev" keeps mail on this machine (development only)
# MAIL_FROM = "escalation-portal@example.org"
# SMTP_HOST = "relay.example.org"
# SMTP_PORT = 587
# SMTP_STARTTLS = True
# SMTP_USERNAME = "portal"
# SMTP_PASSWORD = "…"
# SESSION_IDLE_MINUTES = 30
# SESSION_ABSOLUTE_HOURS = 10
