"""The public status page: what commanders chose to publish, nothing internal."""
