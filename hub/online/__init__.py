"""Who is on the customer's site now (在线访客): ephemeral, per process, behind a seam."""
