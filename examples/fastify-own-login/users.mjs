// The host's own user table, standing in for yours (a database, SSO, magic links).
// prolong never sees a password: the login route tells it "this is user-42" and no more.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const scryptAsync = promisify(scrypt);
const hashPassword = async (password, salt = randomBytes(16)) => ({
  salt,
  hash: await scryptAsync(password, salt, 32),
});

const users = [
  { id: "user-42", username: "maryo", name: "Maryo", ...(await hashPassword("correct horse battery")) },
  { id: "user-7", username: "ada", name: "Ada", ...(await hashPassword("analytical engine")) },
];

/** The user with this username and password, or `null`. */
export async function checkPassword(username, password) {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = users.find((candidate) => candidate.username === username.trim().toLowerCase());
  // An unknown name costs the same scrypt as a known one, so timing does not tell names apart.
  const { hash } = await hashPassword(password, user?.salt);
  return user && timingSafeEqual(hash, user.hash) ? user : null;
}

/** The user a token's `sub` names: the ids are this table's. */
export const userById = (id) => users.find((user) => user.id === id) ?? null;
