// A tour step that marks a screen worth a picture. `make screenshots` runs the tours with
// the cookie kommo_screenshots=1 (tests/test_screenshots.py): the step then names the screen
// on the console, where the test takes the picture, and waits for it. Otherwise it passes.

const SETTLE_MS = 400;
const CAPTURE_MS = 1500;

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function screenshot(name, trigger = "body") {
    return {
        content: `Screenshot ${name}`,
        trigger,
        async run() {
            if (!document.cookie.includes("kommo_screenshots=1")) {
                return;
            }
            await pause(SETTLE_MS);
            console.log(`kommo_screenshot:${name}`);
            await pause(CAPTURE_MS);
        },
    };
}
