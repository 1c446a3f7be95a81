// A round trip on openapi-fetch against `leadway fake`, typed only from
// api/openapi.yaml. spec-check.sh starts the fake with --rate-max 3, sets
// LEADWAY_BASE_URL and LEADWAY_TOKEN, compiles this file with tsc and runs
// it under Node's test runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const baseUrl = process.env.LEADWAY_BASE_URL ?? "https://services.leadconnectorhq.com";
const token = process.env.LEADWAY_TOKEN ?? "";

// Authorization and Version are set once, here; no call repeats them.
const client = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${token}`, Version: "2021-07-28" },
});

// Each test uses its own location, so the fake's per-location budget of 3
// requests per window only runs out where a test means it to.
const request = (locationId: string) => ({
  pipelineId: "pipe-ts",
  locationId,
  followers: [] as string[],
  isRemoveAllFollowers: false,
  followersActionType: "add" as const,
});

test("creates an opportunity, then updates it by id", async () => {
  const created = await client.POST("/opportunities/upsert", {
    body: { ...request("loc-ts-1"), name: "Website redesign", monetaryValue: 220 },
  });
  if (created.error) assert.fail(`create failed: ${JSON.stringify(created.error)}`);
  assert.equal(created.response.status, 200);
  assert.equal(created.data.new, true);
  const id = created.data.opportunity.id;
  assert.ok(id, "the answer names the new opportunity");
  assert.equal(created.data.opportunity.name, "Website redesign");
  assert.equal(created.response.headers.get("X-RateLimit-Max"), "3");

  const updated = await client.POST("/opportunities/upsert", {
    body: { ...request("loc-ts-1"), id, pipelineStageId: "stage-2", monetaryValue: 1500.5 },
  });
  if (updated.error) assert.fail(`update failed: ${JSON.stringify(updated.error)}`);
  assert.equal(updated.data.new, false);
  assert.equal(updated.data.opportunity.id, id);
  assert.equal(updated.data.opportunity.pipelineStageId, "stage-2");
  assert.equal(updated.data.opportunity.monetaryValue, 1500.5);
  assert.equal(updated.data.opportunity.name, "Website redesign");
});

test("a 422 is an error whose message lists every problem", async () => {
  const { data, error, response } = await client.POST("/opportunities/upsert", {
    body: { ...request(""), pipelineId: "" },
  });
  assert.equal(data, undefined);
  assert.equal(response.status, 422);
  assert.ok(error, "a 422 surfaces as an error");
  assert.deepEqual(error, {
    statusCode: 422,
    error: "Unprocessable Entity",
    message: ["locationId should not be empty", "pipelineId should not be empty"],
  });
});

test("a 429 is an error, not an empty success", async () => {
  const statuses: number[] = [];
  let limited: unknown;
  for (let i = 0; i < 4; i++) {
    const { data, error, response } = await client.POST("/opportunities/upsert", {
      body: request("loc-ts-burst"),
    });
    statuses.push(response.status);
    if (response.status === 429) {
      assert.equal(data, undefined);
      limited = error;
      assert.equal(response.headers.get("X-RateLimit-Remaining"), "0");
      assert.ok(Number(response.headers.get("X-RateLimit-Interval-Milliseconds")) > 0);
    }
  }
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.deepEqual(limited, { statusCode: 429, message: "Too Many Requests", error: "Too Many Requests" });
});
