"""Microsoft Entra ID: sign-in, the bulk token, Microsoft Graph checks, enrollment, revoking."""
