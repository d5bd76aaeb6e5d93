import type { NextFunction, Request, Response } from "express";
import { addressedUrl, authorize, carriesToken, checkGuardOptions, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

/**
 * Express middleware: sets `res.locals.auth` to the claims, or answers with the challenge.
 * A DPoP proof is checked against `req.protocol` and `req.host`, which follow the app's
 * `trust proxy` setting, and `req.originalUrl`; or against `publicOrigin` when given.
 */
export function expressGuard(verifier: Verifier, options: GuardOptions = {}) {
  checkGuardOptions(options);
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const result = await authorize(
        verifier,
        {
          authorization: req.headers.authorization,
          tokenInQuery: carriesToken(req.query),
          tokenInBody: carriesToken(req.body),
          dpop: req.headers.dpop,
          method: req.method,
          url: addressedUrl(
            options,
            req.originalUrl,
            () => `${req.protocol}://${req.host}${req.originalUrl}`,
          ),
        },
        options,
      );
      if (!result.ok) {
        res.status(result.challenge.status).set(result.challenge.headers).json(result.challenge.body);
        return;
      }
      res.set(result.headers);
      res.locals.auth = result.claims;
      next();
    } catch (error) {
      next(error);
    }
  };
}
