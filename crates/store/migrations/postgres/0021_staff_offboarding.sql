-- Staff offboarding: the staff list shows when each person last signed in
-- (password and, where required, second factor done). Empty until the next sign-in.
ALTER TABLE staff_users ADD COLUMN last_login_at BIGINT;
