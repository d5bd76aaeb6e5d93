// The app's own user table, standing in for yours (a database, SSO, magic links).
// prolong never sees a password: the login action tells it "this is user-42" and no more.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

export interface User {
  id: string;
  username: string;
  name: string;
}

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

async function hashPassword(password: string, salt: Buffer = randomBytes(16)) {
  return { salt, hash: await scryptAsync(password, salt, 32) };
}

const users = [
  { id: "user-42", username: "maryo", name: "Maryo", ...(await hashPassword("correct horse battery")) },
  { id: "user-7", username: "ada", name: "Ada", ...(await hashPassword("analytical engine")) },
];

/** The user with this username and password, or `null`. */
export async function checkPassword(username: unknown, password: unknown): Promise<User | null> {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = users.find((candidate) => candidate.username === username.trim().toLowerCase());
  // An unknown name costs the same scrypt as a known one, so timing does not tell names apart.
  const { hash } = await hashPassword(password, user?.salt);
  if (!user || !timingSafeEqual(hash, user.hash)) return null;
  return { id: user.id, username: user.username, name: user.name };
}

/** The user a token's `sub` names: the ids are this table's. */
export function userById(id: string): User | null {
  const user = users.find((candidate) => candidate.id === id);
  return user ? { id: user.id, username: user.username, name: user.name } : null;
}
