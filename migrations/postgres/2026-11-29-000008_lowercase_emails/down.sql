-- The original case of the addresses is not kept.
SELECT 1;
