import { describe, expect, it } from "vitest";
import { stepUpChallenge } from "../src/step-up.js";

describe("stepUpChallenge (RFC 9470 §3)", () => {
  it("reads max_age and acr_values from a Bearer or DPoP challenge", () => {
    expect(
      stepUpChallenge(
        401,
        'Bearer realm="api", error="insufficient_user_authentication", error_description="authentication is too old", max_age=60, acr_values="mfa hwk"',
      ),
    ).toEqual({ maxAge: 60, acrValues: ["mfa", "hwk"] });
    expect(
      stepUpChallenge(
        401,
        'DPoP error="insufficient_user_authentication", error_description="x", acr_values="urn:example:gold", algs="ES256 EdDSA"',
      ),
    ).toEqual({ acrValues: ["urn:example:gold"] });
    expect(stepUpChallenge(401, 'Bearer error="insufficient_user_authentication", max_age="300"')).toEqual({
      maxAge: 300,
    });
  });

  it("is null for any other answer", () => {
    expect(stepUpChallenge(401, 'Bearer error="invalid_token", error_description="expired"')).toBeNull();
    expect(stepUpChallenge(401, "Bearer")).toBeNull();
    expect(stepUpChallenge(401, null)).toBeNull();
    expect(stepUpChallenge(403, 'Bearer error="insufficient_user_authentication", max_age=60')).toBeNull();
    // The description may name the code; only the error parameter counts.
    expect(
      stepUpChallenge(
        401,
        'Bearer error="invalid_token", error_description="insufficient_user_authentication"',
      ),
    ).toBeNull();
  });

  it("leaves out what is malformed and unescapes quoted values", () => {
    expect(
      stepUpChallenge(401, 'Bearer error="insufficient_user_authentication", max_age=-5, acr_values="  "'),
    ).toEqual({});
    expect(
      stepUpChallenge(401, 'Bearer error="insufficient_user_authentication", acr_values="a\\"b c"'),
    ).toEqual({ acrValues: ['a"b', "c"] });
  });
});
