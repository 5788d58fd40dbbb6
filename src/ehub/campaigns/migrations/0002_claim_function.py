"""PostgreSQL only: the flash-sale claim as one server-side function (one round trip).

``campaigns_claim`` does in the database exactly what ``services.gate`` does statement by
statement on other backends; see the gate's docstring. Other backends skip this migration.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION campaigns_claim(
    p_key text, p_offer bigint, p_buyer bigint, p_qty integer, p_limit integer,
    p_buckets integer, p_start integer, p_now timestamptz, p_async boolean
) RETURNS bigint
LANGUAGE plpgsql AS $$
-- Returns the new claim's id; 0 when the key exists (the caller reads that claim);
-- -1 when the buyer's limit would be passed; -2 when too few units are left.
DECLARE
    v_id bigint;
    v_claimed integer;
    v_need integer;
    v_take integer;
    v_taken boolean := false;
    v_bucket integer;
    v_indexes integer[];
    v_remaining integer[];
    v_sum bigint;
BEGIN
    IF p_async THEN
        -- Durable with the next synchronous commit (checkout's order): see decisions.md.
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    PERFORM 1 FROM campaigns_claim WHERE "key" = p_key;
    IF FOUND THEN
        RETURN 0;
    END IF;

    INSERT INTO campaigns_buyerallowance AS a (offer_id, buyer_id, claimed)
    VALUES (p_offer, p_buyer, p_qty)
    ON CONFLICT (offer_id, buyer_id) DO UPDATE SET claimed = a.claimed + excluded.claimed
    WHERE a.claimed + excluded.claimed <= p_limit
    RETURNING claimed INTO v_claimed;
    IF v_claimed IS NULL THEN
        RETURN -1;
    END IF;

    -- The first bucket, from a random start, that holds enough and that no one else has
    -- locked right now (SKIP LOCKED: no waiting here). In a sub-transaction: when it finds
    -- nothing it is rolled back, which also drops any row lock the search took on its way
    -- (a row re-checked after a concurrent change stays locked even when it no longer
    -- qualifies), so the claim enters the ordered path below holding no bucket.
    BEGIN
        UPDATE campaigns_offerbucket SET remaining = remaining - p_qty
        WHERE id = (
            SELECT id FROM campaigns_offerbucket
            WHERE offer_id = p_offer AND remaining >= p_qty
            ORDER BY mod("index" - p_start + p_buckets, p_buckets)
            LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        RETURNING "index" INTO STRICT v_bucket;
        v_taken := true;
    EXCEPTION WHEN no_data_found THEN
        v_taken := false;
    END;
    IF NOT v_taken THEN
        BEGIN
            -- Every bucket with enough is busy, or none holds enough alone: lock the
            -- non-empty ones in index order (the only way a claim ever waits for buckets,
            -- so no two claims can deadlock) and take from those locked, current rows,
            -- only if they add up.
            SELECT array_agg(locked."index" ORDER BY locked."index"),
                   array_agg(locked.remaining ORDER BY locked."index"),
                   coalesce(sum(locked.remaining), 0)
            INTO v_indexes, v_remaining, v_sum
            FROM (
                SELECT "index", remaining FROM campaigns_offerbucket
                WHERE offer_id = p_offer AND remaining > 0
                ORDER BY "index" FOR UPDATE
            ) AS locked;
            IF v_sum < p_qty THEN
                UPDATE campaigns_buyerallowance SET claimed = claimed - p_qty
                WHERE offer_id = p_offer AND buyer_id = p_buyer;
                RETURN -2;
            END IF;
            v_need := p_qty;
            v_bucket := v_indexes[1];
            FOR i IN 1 .. array_length(v_indexes, 1) LOOP
                v_take := least(v_remaining[i], v_need);
                UPDATE campaigns_offerbucket SET remaining = remaining - v_take
                WHERE offer_id = p_offer AND "index" = v_indexes[i];
                v_need := v_need - v_take;
                EXIT WHEN v_need = 0;
            END LOOP;
        END;
    END IF;

    INSERT INTO campaigns_claim ("key", offer_id, buyer_id, qty, status, created_at)
    VALUES (p_key, p_offer, p_buyer, p_qty, 'held', p_now)
    ON CONFLICT ("key") DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        -- A twin with the same key won the race: undo our counters, the caller reads its
        -- claim. (The units go back to a bucket we already hold locked.)
        UPDATE campaigns_offerbucket SET remaining = remaining + p_qty
        WHERE offer_id = p_offer AND "index" = v_bucket;
        UPDATE campaigns_buyerallowance SET claimed = claimed - p_qty
        WHERE offer_id = p_offer AND buyer_id = p_buyer;
        RETURN 0;
    END IF;
    RETURN v_id;
END;
$$;
"""

DROP = (
    "DROP FUNCTION IF EXISTS campaigns_claim("
    "text, bigint, bigint, integer, integer, integer, integer, timestamptz, boolean);"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
