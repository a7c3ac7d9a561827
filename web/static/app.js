// Starts GOV.UK Frontend's components (error summary focus, character count, service
// navigation's menu). A module, so browsers too old for it get the plain HTML, which works.
import { initAll } from "./vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
