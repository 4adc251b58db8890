using Contiv.NetCtl;

var commands = new NetCtlCommands(Console.Out, Console.Error, (url, token) => NetmasterClient.Create(url, token, TimeSpan.FromSeconds(30)));
return await commands.RunAsync(args);
