-- Which of the portal's own bookings a claim's synced open amount already holds:
-- the highest payment_bookings id of the claim when the finance software last
-- sent it. Bookings with a higher id are subtracted from the open amount shown.
-- An id instead of a timestamp, since a booking and a sync can share a millisecond.
ALTER TABLE claims ADD COLUMN synced_booking_id BIGINT NOT NULL DEFAULT 0;
-- Claims synced before this version: what was booked up to the sync's time.
UPDATE claims SET synced_booking_id = COALESCE(
    (SELECT MAX(b.id) FROM payment_bookings b WHERE b.claim_id = claims.id AND b.created_at <= claims.synced_at),
    0
);
