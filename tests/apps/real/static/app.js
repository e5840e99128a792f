window.appVersion = "js-v1";
