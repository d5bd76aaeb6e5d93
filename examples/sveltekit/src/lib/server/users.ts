// The app's own user table, standing in for yours (a database, SSO, magic links).
// prolong never sees a password: the login action tells it "this is user-42" and no more.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface User {
  id: string;
  username: string;
  name: string;
}

interface StoredUser extends User {
  salt: Buffer;
  hash: Buffer;
}

function hashOf(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, (error, hash) => (error ? reject(error) : resolve(hash))),
  );
}

async function user(id: string, username: string, name: string, password: string): Promise<StoredUser> {
  const salt = randomBytes(16);
  return { id, username, name, salt, hash: await hashOf(password, salt) };
}

const users = await Promise.all([
  user("user-42", "maryo", "Maryo", "correct horse battery"),
  user("user-7", "ada", "Ada", "analytical engine"),
]);

const publicPart = ({ id, username, name }: StoredUser): User => ({ id, username, name });

/** The user with this username and password, or `null`. */
export async function checkPassword(username: unknown, password: unknown): Promise<User | null> {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const found = users.find((candidate) => candidate.username === username.trim().toLowerCase());
  // An unknown name costs the same scrypt as a known one, so timing does not tell names apart.
  const hash = await hashOf(password, found?.salt ?? randomBytes(16));
  return found && timingSafeEqual(hash, found.hash) ? publicPart(found) : null;
}

/** The user a token's `sub` names: the ids are this table's. */
export function userById(id: string): User | null {
  const found = users.find((candidate) => candidate.id === id);
  return found ? publicPart(found) : null;
}
