import { scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt);

/**
 * The demo accounts, as a real app would keep them: a random salt and the scrypt hash of the
 * password (node's defaults, N=16384, r=8, p=1, 32 bytes), never the password itself. The page
 * shows the passwords so that anyone can try the demo.
 */
const accounts = new Map([
  ['alice', { password: 'wonderland', hash: 'JT90coYlOMjsLLtOBgbPdA:Xjcu6eB7atVMI_6Fd6ih5BmrpXCIsp0x1voS9VEF6vU' }],
  ['bob', { password: 'builder', hash: '3yEEyoMW0f2vEba6PsrYUw:QUfV91kP9-adLQ5c5YHOqB9rIrTp8JdN5KZuhEZhA4w' }],
]);

/** The accounts and passwords shown on the login page. */
export const demoAccounts = [...accounts].map(([username, { password }]) => ({ username, password }));

// An unknown user costs one scrypt as well, so response time doesn't tell which names exist.
const decoy = 'c2Vzc2lvbmtpdC1kZW1vLQ:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Resolves to the username when the password matches its scrypt hash, otherwise to null. */
export async function checkPassword(username, password) {
  if (typeof username !== 'string' || typeof password !== 'string') return null;
  const account = accounts.get(username);
  const [salt, expected] = (account?.hash ?? decoy).split(':').map((part) => Buffer.from(part, 'base64url'));
  const actual = await scryptAsync(password.normalize('NFKC'), salt, expected.length);
  return account && timingSafeEqual(actual, expected) ? username : null;
}
